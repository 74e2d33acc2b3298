"""Export SMLF-Net to an .acnn file (models/FORMAT.md) and write golden vectors.

    /usr/bin/python3 train/export.py --variant full --checkpoint best.pt \
        --out models/smlf-full.acnn --golden tests/golden/smlf-full.bin

Without --checkpoint the model is random-initialised from --seed, with
randomised BatchNorm statistics so that BN folding is exercised; META says so.

Golden file (little-endian): "ACGOLD1\\0", u32 crc (payload CRC of the model
the vectors belong to), u32 n_cases, u32 in_h, in_w, in_c, u32 n_out, then per
case in_h*in_w*in_c input floats (NHWC, normalised) and n_out logits from
PyTorch in eval mode.
"""
import argparse
import datetime
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acnn  # noqa: E402
import preprocess  # noqa: E402
import smlf  # noqa: E402


def convbn(w, x, seq):
    """smlf.ConvBN: Conv2d, BatchNorm2d and an optional LeakyReLU."""
    if len(seq) == 3:
        return w.conv(x, seq[0], seq[1], act="leaky", alpha=seq[2].negative_slope)
    return w.conv(x, seq[0], seq[1])


def build_graph(model, variant):
    s = model.input_size
    w = acnn.AcnnWriter(s, s, 3, mean=preprocess.MEAN, scale=preprocess.SCALE,
                        num_classes=model.fc.out_features, kind=acnn.KIND_AGE)
    x = convbn(w, 0, model.conv1)
    for seq in model.dw1:
        x = convbn(w, x, seq)
    x = w.se(x, model.dw1_se)
    for b in model.blocks:
        y = convbn(w, x, b.expand)
        y = convbn(w, y, b.dw)
        y = convbn(w, y, b.project)
        if b.se is not None:
            y = w.se(y, b.se)
        x = w.add(x, y) if b.residual else y
    for seq in model.dw2:
        x = convbn(w, x, seq)
    x = w.fc(x, model.fc)
    w.output(x, "logits")
    return w


def randomise_bn(model, gen, size):
    """Random BN affine parameters, and running statistics measured on random
    inputs so the untrained net keeps input-dependent activations (with
    default statistics the signal fades and every input gives the same
    logits, which would make the golden vectors blind to most layers)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.data.copy_(0.5 + torch.rand(n, generator=gen))
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
    model.train()
    for _ in range(4):
        model(torch.rand(8, 3, size, size, generator=gen) * 2 - 1)
    model.eval()


def git_commit():
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)), check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def golden_inputs(size, seed):
    """Deterministic NHWC inputs: two seeded uniform tensors in the normalised
    range, a synthetic gradient/checker image normalised like a photo, zeros."""
    rng = np.random.default_rng(seed)
    cases = [rng.uniform(-1, 1, (size, size, 3)).astype(np.float32) for _ in range(2)]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = np.stack([255 * xx / (size - 1), 255 * yy / (size - 1),
                    255.0 * (((xx // 8) + (yy // 8)) % 2)], axis=-1)
    cases.append(preprocess.normalize(img).astype(np.float32))
    cases.append(np.zeros((size, size, 3), np.float32))
    return cases


def write_golden(path, model, crc, size, seed):
    cases = golden_inputs(size, seed)
    outs = []
    with torch.no_grad():
        for c in cases:
            x = torch.from_numpy(c).permute(2, 0, 1)[None].contiguous()
            outs.append(model(x)[0].numpy().astype(np.float32))
    with open(path, "wb") as f:
        f.write(b"ACGOLD1\0" + struct.pack("<IIIIII", crc, len(cases), size, size, 3, outs[0].size))
        for c, o in zip(cases, outs):
            f.write(c.astype("<f4").tobytes())
            f.write(o.astype("<f4").tobytes())
    return outs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", choices=sorted(smlf.VARIANTS), required=True)
    ap.add_argument("--checkpoint", help="train_age.py checkpoint (dict with 'model')")
    ap.add_argument("--out", required=True)
    ap.add_argument("--golden", help="also write golden vectors here")
    ap.add_argument("--seed", type=int, default=1234, help="random init / golden input seed")
    a = ap.parse_args()
    torch.set_num_threads(1)

    torch.manual_seed(a.seed)
    ck = torch.load(a.checkpoint, map_location="cpu") if a.checkpoint else None
    n = smlf.checkpoint_classes(ck) if ck else smlf.NUM_CLASSES
    model = smlf.build(a.variant, n)
    meta = dict(variant=a.variant, arch="smlf-net", input_size=model.input_size,
                width=model.width, leaky=smlf.LEAKY, classes=f"ages 0..{n - 2}, {n - 1}+",
                export_date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                git_commit=git_commit())
    if ck:
        model.load_state_dict(ck["model"])
        meta.update(init="checkpoint", checkpoint=os.path.abspath(a.checkpoint))
        if "epoch" in ck:
            meta["epochs"] = ck["epoch"] + 1
        val = ck.get("val")
        if isinstance(val, dict):
            for k, v in sorted(val.items()):
                meta[f"val_{k}"] = f"{v:.4f}" if isinstance(v, float) else v
        elif val is not None:
            meta["val"] = val
    else:
        gen = torch.Generator().manual_seed(a.seed)
        with torch.no_grad():
            randomise_bn(model, gen, model.input_size)
        meta.update(init=f"random seed={a.seed} (UNTRAINED; BN affine random, statistics calibrated on random inputs)")
    model.eval()

    w = build_graph(model, a.variant)
    torch_params = sum(p.numel() for p in model.parameters())
    meta["params_torch"] = torch_params
    for k, v in meta.items():
        w.meta(k, v)
    data = w.save(a.out)
    crc = struct.unpack_from("<I", data, 24)[0]
    assert crc == zlib.crc32(data[64:]) & 0xFFFFFFFF
    assert w.params == torch_params, (w.params, torch_params)
    print(f"{a.out}: {len(data)} bytes, {w.params} params ({w.blob_len} floats stored, BN folded), "
          f"{len(w.ops)} ops, crc {crc:08x}")
    if a.golden:
        outs = write_golden(a.golden, model, crc, model.input_size, a.seed)
        ages = [float((torch.softmax(torch.from_numpy(o), 0) * smlf.class_ages(n)).sum()) for o in outs]
        print(f"{a.golden}: {len(outs)} cases, expected ages " + ", ".join(f"{x:.2f}" for x in ages))


if __name__ == "__main__":
    main()
