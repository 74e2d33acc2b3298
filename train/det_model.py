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
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# (stride, anchor sizes in input pixels); sizes double so every face from
# 16 px up has an anchor with IoU >= 0.5 up to aspect differences.
LEVELS = [(8, (16, 32)), (16, (64, 128)), (32, (256,))]
MAXOUT_BG = 3          # background logits for the smallest anchor
VARIANCE = (0.1, 0.2)  # SSD box/landmark encoding variances
MEAN = (127.5, 127.5, 127.5)
# channel widths (stem, s4, s8, s16, s32) and LFPN/CPM width of the first
# shipped detectors; a checkpoint or file that names none has these
WIDTH = (16, 32, 64, 128, 160)
FPN = 32
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
    def __init__(self, width=WIDTH, fpn=FPN):
        super().__init__()
        self.width, self.fpn = tuple(width), fpn
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


def from_checkpoint(ck):
    """An untrained Detector of the widths a det_train.py checkpoint records."""
    return Detector(ck.get("width", WIDTH), ck.get("fpn", FPN))


def _conv_spaces(name):
    """(input, output) channel space of the conv in module `name`; convs
    that read or write the same space (a stage's blocks, the LFPN sum) must
    grow their channels the same way. A depthwise conv stays in one space."""
    p = name.split(".")
    if p[0] == "stem":
        return "rgb", "c1"
    if p[0].startswith("stage"):
        k, j = int(p[0][5:]), int(p[1])
        space = "c%d" % (k - 1 if j == 0 else k)
        return (space, space) if p[2] == "0" else (space, "c%d" % k)
    if p[0].startswith("lat"):
        return "c" + p[0][3:], "fpn"
    if p[0] == "cpm":
        ins = {"b3": "fpn", "b5a": "fpn", "b5b": "q1", "b7": "q2"}[p[2]]
        outs = {"b3": "h", "b5a": "q1", "b5b": "q2", "b7": "q3"}[p[2]]
        ins = ins if ins == "fpn" else "cpm%s.%s" % (p[1], ins)
        return (ins, ins) if p[3] == "0" else (ins, "cpm%s.%s" % (p[1], outs))
    if p[0] == "heads":
        return "cpm%s.cat" % p[1], "out"
    raise KeyError(name)


@torch.no_grad()
def widen(src, dst, noise=0.05, seed=0):
    """Grow trained detector src into dst, a detector of the same layout that
    is at least as wide everywhere (Net2WiderNet, Chen et al. 2016): each new
    channel copies a randomly chosen old channel of its space, and every
    weight that reads a copied channel is split evenly between the original
    and its copies, so dst computes src's outputs. Copies start as live as
    their originals; fresh random filters on post-ReLU inputs left 44 % of
    the new context channels dead in a first version. noise (relative to each filter's spread) on the copies' own
    filters breaks the symmetry, which even an uneven split would not under
    Adam's scale-free steps; with noise=0 the outputs match exactly."""
    if len(dst.width) != len(src.width) or any(
            d < s for d, s in zip(dst.width + (dst.fpn,), src.width + (src.fpn,))):
        raise ValueError("widen: %s/%d is not at least as wide as %s/%d"
                         % (dst.width, dst.fpn, src.width, src.fpn))
    gen = torch.Generator().manual_seed(seed)
    smods, dmods = dict(src.named_modules()), dict(dst.named_modules())
    convs = [(n, m) for n, m in dmods.items() if isinstance(m, nn.Conv2d)]
    grow = {}  # space -> LongTensor: the old channel each new channel copies

    def mapping(space, n_old, n_new):
        if space not in grow:
            extra = torch.randint(0, n_old, (n_new - n_old,), generator=gen)
            grow[space] = torch.cat([torch.arange(n_old), extra])
        return grow[space]

    for name, d in convs:
        s = smods[name]
        sin, sout = _conv_spaces(name)
        depthwise = s.groups > 1
        gout = (torch.arange(s.out_channels) if sout == "out"
                else mapping(sout, s.out_channels, d.out_channels))
        w = s.weight[gout]
        if not depthwise:
            if sin.endswith(".cat"):  # the heads read three concatenated branches
                h, q = src.fpn // 2, src.fpn // 4
                c = sin[:-4]
                gin = torch.cat([grow[c + ".h"], grow[c + ".q2"] + h,
                                 grow[c + ".q3"] + h + q])
            else:
                gin = (torch.arange(s.in_channels) if sin == "rgb"
                       else mapping(sin, s.in_channels, d.in_channels))
            count = torch.bincount(gin, minlength=s.in_channels).float()
            w = w[:, gin] / count[gin][None, :, None, None]
        if noise > 0 and d.out_channels > s.out_channels:
            spread = w.flatten(1).std(1).clamp(min=1e-6)[:, None, None, None]
            w[s.out_channels:] += noise * spread[s.out_channels:] * torch.randn(
                w[s.out_channels:].shape, generator=gen)
        d.weight.copy_(w)
        if s.bias is not None:
            d.bias.copy_(s.bias[gout])
        bn_name = name[:-1] + "1" if name.endswith(".0") else None
        if bn_name in smods and isinstance(smods[bn_name], nn.BatchNorm2d):
            sb, db = smods[bn_name], dmods[bn_name]
            for t in ("weight", "bias", "running_mean", "running_var"):
                getattr(db, t).copy_(getattr(sb, t)[gout])


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
    m = Detector(*([tuple(int(v) for v in sys.argv[1].split(",")), int(sys.argv[2])]
                   if len(sys.argv) > 2 else []))
    n = sum(p.numel() for p in m.parameters())
    print("params %d, MACs at 320x240 %.1f M, at 640x480 %.1f M"
          % (n, count_macs(m, 240, 320) / 1e6, count_macs(m, 480, 640) / 1e6))
