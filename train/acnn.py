"""Writer for .acnn model files (format: models/FORMAT.md), read by src/nn.

Generic graph builder: every method appends one op and returns the id of the
tensor it produces (tensor 0 is the input). Shapes are tracked here as
(h, w, c) so callers can check them; the C loader re-derives and validates
everything. BatchNorm is folded into the preceding conv.

    w = AcnnWriter(112, 112, 3, mean=MEAN, scale=SCALE, num_classes=66, kind=KIND_AGE)
    x = w.conv(0, conv, bn, act="leaky", alpha=0.1)
    x = w.se(x, se_module)            # module with fc1, fc2 (nn.Linear)
    y = w.fc(x, linear)
    w.output(y, "logits")
    w.meta("variant", "full")
    w.save("models/smlf-full.acnn")

Methods taking raw arrays (conv_raw, fc_raw, se_raw) exist for graphs that do
not come from torch modules. Weights are float32.
"""
import struct
import zlib

import numpy as np

MAGIC = b"ACNNMDL\0"
VERSION = 1
HEADER_SIZE = 64
KIND_GENERIC, KIND_AGE, KIND_DETECTOR, KIND_VERIFIER = 0, 1, 2, 3

OP = dict(conv=1, fc=2, add=3, se=4, gap=5, concat=6, upsample=7, softmax=8, act=9, maxpool=10)
ACT = dict(none=0, relu=1, leaky=2, sigmoid=3)
FLAG_BIAS = 1
FLAG_SIZE_OF_IN1 = 2
FLAG_BN_FOLDED = 4  # bias came from BN: param_count counts gamma and beta
OP_RECORD = struct.Struct("<IIIIfIIIIIIIIIII")  # 64 bytes, see FORMAT.md
assert OP_RECORD.size == 64


def _np(t):
    if hasattr(t, "detach"):
        t = t.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(t, dtype=np.float32))


def fold_bn(weight, bias, bn):
    """weight: torch layout [O, I/g, kh, kw] as numpy; returns folded (w, b)."""
    if bn is None:
        return weight, bias
    gamma, beta = _np(bn.weight), _np(bn.bias)
    mean, var = _np(bn.running_mean), _np(bn.running_var)
    # fold in float64 so the folded weights are as close to torch as float32 allows
    s = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + bn.eps)
    w = (weight.astype(np.float64) * s[:, None, None, None]).astype(np.float32)
    b0 = np.zeros_like(mean, dtype=np.float64) if bias is None else bias.astype(np.float64)
    b = ((b0 - mean) * s + beta).astype(np.float32)
    return w, b


class AcnnWriter:
    def __init__(self, input_w, input_h, input_c=3, mean=(0, 0, 0), scale=(1, 1, 1),
                 num_classes=0, kind=KIND_GENERIC):
        self.info = (input_w, input_h, input_c, tuple(mean), tuple(scale), num_classes, kind)
        self.shapes = [(input_h, input_w, input_c)]
        self.ops = []
        self.blob = []
        self.blob_len = 0  # floats
        self.outputs = []
        self.metadata = []
        self.params = 0

    # -- helpers ---------------------------------------------------------
    def _weights(self, *arrays):
        off = self.blob_len
        for a in arrays:
            a = _np(a).ravel()
            self.blob.append(a)
            self.blob_len += a.size
            self.params += a.size
        return off, self.blob_len - off

    def _op(self, op, shape, in0=0, in1=0, act="none", alpha=0.0, out_c=0, kh=0, kw=0,
            sh=0, sw=0, ph=0, pw=0, groups=0, w_off=0, w_count=0, flags=0):
        for t in (in0, in1):
            if not 0 <= t < len(self.shapes):
                raise ValueError(f"tensor {t} does not exist")
        if act != "leaky":
            alpha = 0.0
        self.ops.append(OP_RECORD.pack(OP[op], in0, in1, ACT[act], alpha, out_c, kh, kw, sh, sw,
                                       ph, pw, groups, w_off, w_count, flags))
        self.shapes.append(tuple(int(v) for v in shape))
        return len(self.shapes) - 1

    def shape(self, t):
        return self.shapes[t]

    # -- ops ---------------------------------------------------------------
    def conv_raw(self, x, weight, bias=None, stride=1, pad=0, groups=1, act="none", alpha=0.0,
                 bn_folded=False):
        """weight: torch layout [O, I/groups, kh, kw]; stride/pad int or (h, w).
        bn_folded: bias holds a folded BatchNorm (counted as 2*O parameters)."""
        weight = _np(weight)
        o, ig, kh, kw = weight.shape
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        ph, pw = (pad, pad) if isinstance(pad, int) else pad
        h, w, c = self.shapes[x]
        if c != ig * groups or o % groups:
            raise ValueError(f"conv: input channels {c} vs weight {weight.shape} groups {groups}")
        oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        ohwi = weight.transpose(0, 2, 3, 1)
        arrays = [ohwi] + ([] if bias is None else [_np(bias)])
        if bn_folded and bias is None:
            raise ValueError("conv: a folded BN needs a bias")
        off, n = self._weights(*arrays)
        self.params += o if bn_folded else 0
        flags = (FLAG_BIAS if bias is not None else 0) | (FLAG_BN_FOLDED if bn_folded else 0)
        return self._op("conv", (oh, ow, o), x, act=act, alpha=alpha, out_c=o, kh=kh, kw=kw,
                        sh=sh, sw=sw, ph=ph, pw=pw, groups=groups, w_off=off, w_count=n,
                        flags=flags)

    def conv(self, x, conv, bn=None, act="none", alpha=0.0):
        """conv: torch.nn.Conv2d (symmetric zero padding, dilation 1); bn folded in."""
        if tuple(conv.dilation) != (1, 1) or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError("conv: only dilation 1 and explicit zero padding are supported")
        bias = None if conv.bias is None else _np(conv.bias)
        w, b = fold_bn(_np(conv.weight), bias, bn)
        return self.conv_raw(x, w, b, tuple(conv.stride), tuple(conv.padding), conv.groups, act, alpha,
                             bn_folded=bn is not None)

    def fc_raw(self, x, weight, bias=None, act="none", alpha=0.0):
        """weight [O, K] with K in torch's NCHW flatten order; reordered to NHWC here."""
        weight = _np(weight)
        h, w, c = self.shapes[x]
        o, k = weight.shape
        if k != h * w * c:
            raise ValueError(f"fc: weight {weight.shape} vs input {self.shapes[x]}")
        nhwc = weight.reshape(o, c, h, w).transpose(0, 2, 3, 1)
        arrays = [nhwc] + ([] if bias is None else [_np(bias)])
        off, n = self._weights(*arrays)
        return self._op("fc", (1, 1, o), x, act=act, alpha=alpha, out_c=o, w_off=off, w_count=n,
                        flags=FLAG_BIAS if bias is not None else 0)

    def fc(self, x, linear, act="none", alpha=0.0):
        return self.fc_raw(x, linear.weight, linear.bias, act, alpha)

    def se_raw(self, x, w1, b1, w2, b2, act="none", alpha=0.0):
        """x * sigmoid(w2 @ relu(w1 @ gap(x) + b1) + b2), per channel."""
        w1, w2 = _np(w1), _np(w2)
        mid, c = w1.shape
        if c != self.shapes[x][2] or w2.shape != (c, mid):
            raise ValueError("se: weight shapes do not match input channels")
        off, n = self._weights(w1, b1, w2, b2)
        return self._op("se", self.shapes[x], x, act=act, alpha=alpha, out_c=mid, w_off=off,
                        w_count=n, flags=FLAG_BIAS)

    def se(self, x, module, act="none", alpha=0.0):
        return self.se_raw(x, module.fc1.weight, module.fc1.bias, module.fc2.weight,
                           module.fc2.bias, act, alpha)

    def add(self, a, b, act="none", alpha=0.0):
        if self.shapes[a] != self.shapes[b]:
            raise ValueError(f"add: shapes {self.shapes[a]} and {self.shapes[b]} differ")
        return self._op("add", self.shapes[a], a, b, act=act, alpha=alpha)

    def gap(self, x, act="none", alpha=0.0):
        return self._op("gap", (1, 1, self.shapes[x][2]), x, act=act, alpha=alpha)

    def concat(self, a, b, act="none", alpha=0.0):
        (h, w, c1), (h2, w2, c2) = self.shapes[a], self.shapes[b]
        if (h, w) != (h2, w2):
            raise ValueError("concat: spatial sizes differ")
        return self._op("concat", (h, w, c1 + c2), a, b, act=act, alpha=alpha)

    def upsample(self, x, factor=None, like=None, act="none", alpha=0.0):
        """Nearest: by an integer factor (int or (fh, fw)) or to tensor `like`'s h, w.
        Source index = dst * in // out (exact integer), as documented in FORMAT.md."""
        h, w, c = self.shapes[x]
        if like is not None:
            lh, lw, _ = self.shapes[like]
            return self._op("upsample", (lh, lw, c), x, like, act=act, alpha=alpha,
                            flags=FLAG_SIZE_OF_IN1)
        fh, fw = (factor, factor) if isinstance(factor, int) else factor
        return self._op("upsample", (h * fh, w * fw, c), x, act=act, alpha=alpha, sh=fh, sw=fw)

    def softmax(self, x):
        return self._op("softmax", self.shapes[x], x)

    def act(self, x, act, alpha=0.0):
        return self._op("act", self.shapes[x], x, act=act, alpha=alpha)

    def maxpool(self, x, k, stride=None, pad=0):
        """Max pool; padded cells are ignored (as torch, -inf padding)."""
        kh, kw = (k, k) if isinstance(k, int) else k
        stride = (kh, kw) if stride is None else stride
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        ph, pw = (pad, pad) if isinstance(pad, int) else pad
        h, w, c = self.shapes[x]
        oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        return self._op("maxpool", (oh, ow, c), x, kh=kh, kw=kw, sh=sh, sw=sw, ph=ph, pw=pw)

    def output(self, t, name):
        self.outputs.append((t, name))

    def meta(self, key, value):
        key, value = str(key), str(value)
        if "=" in key or "\n" in key or "\n" in value or "\0" in key + value or not key:
            raise ValueError(f"bad metadata {key!r}")
        self.metadata.append((key, value))

    # -- serialisation -----------------------------------------------------
    @staticmethod
    def _section(tag, data):
        pad = (-len(data)) % 16
        return tag + struct.pack("<III", len(data), 0, 0) + data + b"\0" * pad

    def payload(self):
        iw, ih, ic, mean, scale, ncls, kind = self.info
        info = struct.pack("<III3f3fII", iw, ih, ic, *mean, *scale, ncls, kind)
        meta = "".join(f"{k}={v}\n" for k, v in self.metadata).encode("utf-8")
        grph = struct.pack("<I", len(self.ops)) + b"".join(self.ops)
        outs = struct.pack("<I", len(self.outputs))
        for t, name in self.outputs:
            nb = name.encode("ascii")
            outs += struct.pack("<II", t, len(nb)) + nb + b"\0" * ((-len(nb)) % 4)
        blob = np.concatenate(self.blob).astype("<f4").tobytes() if self.blob else b""
        return (self._section(b"INFO", info) + self._section(b"META", meta) +
                self._section(b"GRPH", grph) + self._section(b"OUTS", outs) +
                self._section(b"WGHT", blob))

    def tobytes(self):
        if not self.outputs:
            raise ValueError("model has no outputs")
        p = self.payload()
        hdr = MAGIC + struct.pack("<IIQI", VERSION, HEADER_SIZE, len(p), zlib.crc32(p) & 0xFFFFFFFF)
        return hdr + b"\0" * (HEADER_SIZE - len(hdr)) + p

    def save(self, path):
        data = self.tobytes()
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        import os
        os.replace(path + ".tmp", path)
        return data
