"""Small PyramidBox-style face detector with 5-point landmarks.

Only ops the C runtime has are used (conv + folded BN + fused ReLU, add,
concat on channels, nearest 2x upsample), so train/det_export.py can walk the
module tree one-to-one.

Layout (strides relative to the input):
  backbone  stem 3x3/2, depthwise-separable blocks -> C3 (s8), C4 (s16), C5 (s32)
  LFPN      top-down fusion starts at the middle level C4, not at C5: the
            stride-32 features see mostly context far larger than a 16 px face
            (PyramidBox section 3.2); P3 = lat(C3) + up(lat(C4)).
  CPM       context module per level (SSH-style 3x3 / 5x5 / 7x7 receptive
            fields made of depthwise-separable convs, concatenated).
  heads     one 1x1 conv per level; channels per anchor: class logits,
            4 box deltas, 10 landmark deltas (all anchors' class logits first,
            then all boxes, then all landmarks).
  max-in-out  the smallest anchor (16 px, stride 8) predicts 3 background
            logits and 1 face logit; the background score is their max
            (PyramidBox 3.4). Other anchors predict [background, face].
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# (stride, anchor sizes in input pixels); sizes double so every face from
# 16 px up has an anchor with IoU >= 0.5 up to aspect differences.
LEVELS = [(8, (16, 32)), (16, (64, 128)), (32, (256,))]
MAXOUT_BG = 3          # background logits for the smallest anchor
VARIANCE = (0.1, 0.2)  # SSD box/landmark encoding variances
MEAN = (127.5, 127.5, 127.5)
SCALE = (1 / 128.0, 1 / 128.0, 1 / 128.0)


def cls_channels(level_index, anchor_index):
    return MAXOUT_BG + 1 if level_index == 0 and anchor_index == 0 else 2


def head_channels(level_index):
    sizes = LEVELS[level_index][1]
    ncls = sum(cls_channels(level_index, a) for a in range(len(sizes)))
    return ncls + 14 * len(sizes)


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, s=1, groups=1, relu=True):
        layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(cout)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class DWSep(nn.Sequential):
    """3x3 depthwise + 1x1 pointwise, both with BN + ReLU."""

    def __init__(self, cin, cout, s=1):
        super().__init__(ConvBN(cin, cin, 3, s, groups=cin), ConvBN(cin, cout, 1))


class CPM(nn.Module):
    """Context-sensitive prediction module: three branches of growing
    receptive field (3, 5, 7), concatenated back to c channels."""

    def __init__(self, c):
        super().__init__()
        h, q = c // 2, c // 4
        self.b3 = DWSep(c, h)
        self.b5a = DWSep(c, q)
        self.b5b = DWSep(q, q)
        self.b7 = DWSep(q, q)

    def forward(self, x):
        a = self.b3(x)
        m = self.b5a(x)
        b = self.b5b(m)
        c = self.b7(b)
        return torch.cat([a, b, c], 1)


class Detector(nn.Module):
    def __init__(self, width=(16, 32, 64, 128, 160), fpn=32):
        super().__init__()
        c1, c2, c3, c4, c5 = width
        self.stem = ConvBN(3, c1, 3, 2)                        # s2
        self.stage2 = nn.Sequential(DWSep(c1, c2, 2), DWSep(c2, c2))  # s4
        self.stage3 = nn.Sequential(DWSep(c2, c3, 2), DWSep(c3, c3))  # s8
        self.stage4 = nn.Sequential(DWSep(c3, c4, 2), DWSep(c4, c4), DWSep(c4, c4))  # s16
        self.stage5 = nn.Sequential(DWSep(c4, c5, 2), DWSep(c5, c5))  # s32
        self.lat3 = ConvBN(c3, fpn, 1)
        self.lat4 = ConvBN(c4, fpn, 1)
        self.lat5 = ConvBN(c5, fpn, 1)
        self.cpm = nn.ModuleList([CPM(fpn) for _ in LEVELS])
        self.heads = nn.ModuleList(
            [nn.Conv2d(fpn, head_channels(i), 1) for i in range(len(LEVELS))])
        self._init_heads()

    def _init_heads(self):
        # Start with a low face prior so the first epoch is not flooded by
        # false positives (RetinaNet-style prior, p = 0.01).
        prior = -math.log(99.0)
        for i, head in enumerate(self.heads):
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)
            off = 0
            for a in range(len(LEVELS[i][1])):
                n = cls_channels(i, a)
                head.bias.data[off + n - 1] = prior
                off += n

    def forward(self, x):
        x = self.stem(x)
        x = self.stage2(x)
        c3 = self.stage3(x)
        c4 = self.stage4(c3)
        c5 = self.stage5(c4)
        p4 = self.lat4(c4)
        p3 = self.lat3(c3) + F.interpolate(p4, scale_factor=2, mode="nearest")
        p5 = self.lat5(c5)
        feats = [p3, p4, p5]
        return [h(m(f)) for f, m, h in zip(feats, self.cpm, self.heads)]


def split_head(out, level_index):
    """(B, C, H, W) head output -> cls logits (B, H*W*A, 2) after max-in-out,
    box (B, H*W*A, 4), landmarks (B, H*W*A, 10); anchor order is
    row-major over (y, x, anchor), as in anchors()."""
    b, _, hh, ww = out.shape
    sizes = LEVELS[level_index][1]
    na = len(sizes)
    o = out.permute(0, 2, 3, 1)
    off = 0
    cls = []
    for a in range(na):
        n = cls_channels(level_index, a)
        lg = o[..., off:off + n]
        if n > 2:
            lg = torch.stack([lg[..., :n - 1].max(-1).values, lg[..., n - 1]], -1)
        cls.append(lg)
        off += n
    cls = torch.stack(cls, 3).reshape(b, -1, 2)
    box = o[..., off:off + 4 * na].reshape(b, hh, ww, na, 4).reshape(b, -1, 4)
    off += 4 * na
    ldm = o[..., off:off + 10 * na].reshape(b, hh, ww, na, 10).reshape(b, -1, 10)
    return cls, box, ldm


def flatten_outputs(outs):
    parts = [split_head(o, i) for i, o in enumerate(outs)]
    return tuple(torch.cat([p[k] for p in parts], 1) for k in range(3))


def anchors(in_h, in_w):
    """(N, 4) anchors as (cx, cy, w, h) in input pixels; the feature map of
    stride s has ceil(dim / s) cells (convs pad by k // 2)."""
    out = []
    for stride, sizes in LEVELS:
        fh, fw = -(-in_h // stride), -(-in_w // stride)
        for y in range(fh):
            for x in range(fw):
                for s in sizes:
                    out.append(((x + 0.5) * stride, (y + 0.5) * stride, s, s))
    return torch.tensor(out, dtype=torch.float32)


def count_macs(model, h, w):
    """Multiply-accumulates of convs (BN folded, adds/upsample ignored)."""
    total = [0]

    def hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        total[0] += out.numel() // out.shape[0] * k

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, h, w))
    for hnd in hs:
        hnd.remove()
    return total[0]


if __name__ == "__main__":
    m = Detector()
    n = sum(p.numel() for p in m.parameters())
    print("params %d, MACs at 320x240 %.1f M, at 640x480 %.1f M"
          % (n, count_macs(m, 240, 320) / 1e6, count_macs(m, 480, 640) / 1e6))
