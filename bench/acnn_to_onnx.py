"""Convert an .acnn model (models/FORMAT.md) to ONNX for the side-by-side bench.

    /usr/bin/python3 bench/acnn_to_onnx.py models/smlf-full.acnn /var/tmp/smlf-full.onnx

Reading the shipped .acnn (rather than re-exporting from a checkpoint) makes
every engine run exactly the same weights; BatchNorm is already folded into
the convolutions, so the ONNX graph is Conv(+bias) -> LeakyRelu, SE as
GlobalAveragePool/Gemm/Relu/Gemm/Sigmoid/Mul, Add, Gemm, as a converter from a
trained PyTorch model would produce after BN folding. Input is NCHW float32
(already normalised), output 'logits'. OpenCV 4.6 rejects ONNX Identity
nodes; the exported graph is checked to hold none (torch emits them for
aliased outputs, which this graph has not).
"""
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

OPS = {1: "conv", 2: "fc", 3: "add", 4: "se", 5: "gap", 6: "concat", 7: "upsample",
       8: "softmax", 9: "act", 10: "maxpool"}


def read_acnn(path):
    data = open(path, "rb").read()
    if data[:8] != b"ACNNMDL\0":
        raise SystemExit(f"{path}: not an .acnn file")
    hsize = struct.unpack_from("<I", data, 12)[0]
    pos, sec = hsize, {}
    while pos < len(data):
        tag = data[pos:pos + 4].decode("ascii")
        n = struct.unpack_from("<I", data, pos + 4)[0]
        sec[tag] = data[pos + 16:pos + 16 + n]
        pos += 16 + (n + 15) // 16 * 16
    info = struct.unpack_from("<3I3f3f2I", sec["INFO"])
    n_ops = struct.unpack_from("<I", sec["GRPH"])[0]
    ops = []
    for i in range(n_ops):
        f = struct.unpack_from("<4If11I", sec["GRPH"], 4 + 64 * i)
        ops.append(dict(op=OPS[f[0]], in0=f[1], in1=f[2], act=f[3], alpha=f[4], out_c=f[5],
                        kh=f[6], kw=f[7], sh=f[8], sw=f[9], ph=f[10], pw=f[11], groups=f[12],
                        w_off=f[13], w_count=f[14], flags=f[15]))
    blob = np.frombuffer(sec["WGHT"], dtype="<f4")
    n_out = struct.unpack_from("<I", sec["OUTS"])[0]
    outs, p = [], 4
    for _ in range(n_out):
        tid, ln = struct.unpack_from("<2I", sec["OUTS"], p)
        outs.append((tid, sec["OUTS"][p + 8:p + 8 + ln].decode()))
        p += 8 + (ln + 3) // 4 * 4
    return dict(w=info[0], h=info[1], c=info[2]), ops, blob, outs


class Net(torch.nn.Module):
    """Runs the acnn graph in NCHW with the file's weights as buffers."""

    def __init__(self, inp, ops, blob, outs):
        super().__init__()
        self.ops, self.outs = ops, outs
        chans = [inp["c"]]
        for i, o in enumerate(ops):
            w = torch.from_numpy(blob[o["w_off"]:o["w_off"] + o["w_count"]].copy())
            c = chans[o["in0"]]
            if o["op"] == "conv":
                cig, k = c // o["groups"], o["out_c"] * o["kh"] * o["kw"] * (c // o["groups"])
                wt = w[:k].view(o["out_c"], o["kh"], o["kw"], cig).permute(0, 3, 1, 2).contiguous()
                self.register_buffer(f"w{i}", wt)
                self.register_buffer(f"b{i}", w[k:] if o["flags"] & 1 else None)
                chans.append(o["out_c"])
            elif o["op"] == "fc":
                k = w.numel() - (o["out_c"] if o["flags"] & 1 else 0)
                self.register_buffer(f"w{i}", w[:k].view(o["out_c"], -1).contiguous())
                self.register_buffer(f"b{i}", w[k:] if o["flags"] & 1 else None)
                chans.append(o["out_c"])
            elif o["op"] == "se":
                mid = o["out_c"]
                parts = torch.split(w, [mid * c, mid, c * mid, c])
                self.register_buffer(f"w{i}", parts[0].view(mid, c).contiguous())
                self.register_buffer(f"b{i}", parts[1].contiguous())
                self.register_buffer(f"v{i}", parts[2].view(c, mid).contiguous())
                self.register_buffer(f"c{i}", parts[3].contiguous())
                chans.append(c)
            elif o["op"] in ("add", "gap", "act"):
                chans.append(c)
            else:
                raise SystemExit(f"op {o['op']} not supported by this converter")

    @staticmethod
    def act(x, o):
        return {0: lambda v: v, 1: F.relu, 2: lambda v: F.leaky_relu(v, o["alpha"]),
                3: torch.sigmoid}[o["act"]](x)

    def forward(self, x):
        t = [x]
        for i, o in enumerate(self.ops):
            a = t[o["in0"]]
            if o["op"] == "conv":
                y = F.conv2d(a, getattr(self, f"w{i}"), getattr(self, f"b{i}"), (o["sh"], o["sw"]),
                             (o["ph"], o["pw"]), 1, o["groups"])
            elif o["op"] == "fc":
                if a.shape[2] * a.shape[3] > 1:
                    a = a.permute(0, 2, 3, 1)  # FORMAT.md: flattened in NHWC order
                y = F.linear(a.reshape(1, -1), getattr(self, f"w{i}"), getattr(self, f"b{i}"))
            elif o["op"] == "se":
                s = F.adaptive_avg_pool2d(a, 1).flatten(1)
                s = F.relu(F.linear(s, getattr(self, f"w{i}"), getattr(self, f"b{i}")))
                s = torch.sigmoid(F.linear(s, getattr(self, f"v{i}"), getattr(self, f"c{i}")))
                y = a * s.view(1, -1, 1, 1)
            elif o["op"] == "add":
                y = a + t[o["in1"]]
            elif o["op"] == "gap":
                y = F.adaptive_avg_pool2d(a, 1)
            else:
                y = a
            t.append(self.act(y, o))
        return t[self.outs[0][0]]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    inp, ops, blob, outs = read_acnn(sys.argv[1])
    net = Net(inp, ops, blob, outs).eval()
    x = torch.zeros(1, inp["c"], inp["h"], inp["w"])
    with torch.no_grad():
        torch.onnx.export(net, (x,), sys.argv[2], input_names=["input"], output_names=[outs[0][1]],
                          opset_version=13, do_constant_folding=True)
    raw = open(sys.argv[2], "rb").read()
    if b"Identity" in raw:
        raise SystemExit(f"{sys.argv[2]}: holds Identity nodes, which OpenCV 4.6 rejects")
    print(f"{sys.argv[2]}: {len(raw)} bytes, {len(ops)} acnn ops, input 1x{inp['c']}x{inp['h']}x{inp['w']}")


if __name__ == "__main__":
    main()
