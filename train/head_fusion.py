"""Would the 66-class head and a wide head do better together? An analysis,
not a model: on the validation split it prints MAE, MAE65, CS(5) and MAE
per age band of

  66     the paper's head alone (65+ counts as 65),
  wide   the wide head alone (e.g. 101 classes: 0..99, 100+),
  fused  the 66-class head with its 65+ mass spread over the wide head's
         own distribution above 65 (age = sum_{k<65} p66_k k +
         p66_65 * E_wide[age | age >= 65]),
  65+=v  the 66-class head with its last class counted as age v,

and the mean error (bias) of both heads per finer band, so the trade between
the 40-64 band and 65+ can be read off.

    /usr/bin/python3 train/head_fusion.py --head66 train/checkpoints/smlf-full-best.pt \
        --wide train/checkpoints/smlf-full-wide-best.pt

Uses training's cached validation chips (uint8), mirror-averaged per head,
so its 66-class MAE can differ from `agecam eval` in the third decimal.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smlf  # noqa: E402
import train_age  # noqa: E402
import utkdata  # noqa: E402

BANDS = [(0, 12), (13, 19), (20, 39), (40, 64), (65, 999)]
FINE = [(40, 49), (50, 59), (60, 64), (65, 69), (70, 79), (80, 999)]


def probs(path, variant, imgs):
    s = torch.load(path)
    m = smlf.build(variant, smlf.checkpoint_classes(s))
    m.load_state_dict(s["model"])
    m = m.eval().to(memory_format=torch.channels_last)
    out = []
    with torch.no_grad():
        for i in range(0, len(imgs), 128):
            x = train_age.to_input(imgs[i:i + 128]).contiguous(memory_format=torch.channels_last)
            out.append(0.5 * (torch.softmax(m(x), 1) + torch.softmax(m(torch.flip(x, [3])), 1)))
    return torch.cat(out).double().numpy()


def fused_age(p66, wide, tail_value=None):
    """Expected age of the 66-class distribution whose last class (65+) is
    worth the wide head's conditional mean above 65 (65 where the wide head
    puts nothing there), or tail_value."""
    last = p66.shape[1] - 1
    if tail_value is None:
        k = np.arange(wide.shape[1], dtype=np.float64)
        tail = wide[:, last:]
        mass = tail.sum(1)
        tail_value = np.where(mass > 0, (tail @ k[last:]) / np.maximum(mass, 1e-300), float(last))
    return p66[:, :last] @ np.arange(last, dtype=np.float64) + p66[:, last] * tail_value


def report(name, pred, y):
    err = np.abs(pred - y)
    bands = " ".join(f"{err[(y >= lo) & (y <= hi)].mean():.3f}" for lo, hi in BANDS)
    print(f"{name:8s} MAE {err.mean():.4f}  MAE65 {np.abs(pred - np.minimum(y, 65)).mean():.4f}  "
          f"CS5 {100 * (err <= 5).mean():.1f} %  bands {bands}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--head66", required=True, help="checkpoint with the 66-class head")
    ap.add_argument("--wide", required=True, help="checkpoint with a wider head")
    ap.add_argument("--variant", default="full", choices=list(smlf.VARIANTS))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    imgs, y = utkdata.cached_arrays("val", smlf.VARIANTS[a.variant]["input_size"])
    y = y.astype(np.float64)
    p66, wide = probs(a.head66, a.variant, imgs), probs(a.wide, a.variant, imgs)
    if p66.shape[1] != smlf.NUM_CLASSES or wide.shape[1] <= smlf.NUM_CLASSES:
        raise SystemExit(f"need a 66-class and a wider head, got {p66.shape[1]} and {wide.shape[1]}")
    e66 = p66 @ np.arange(p66.shape[1], dtype=np.float64)
    ewide = wide @ np.arange(wide.shape[1], dtype=np.float64)
    print("band MAE over " + " / ".join(f"{lo}-{hi}" if hi < 999 else f"{lo}+" for lo, hi in BANDS))
    report("66", e66, y)
    report("wide", ewide, y)
    report("fused", fused_age(p66, wide), y)
    for v in (70.0, 75.0):
        report(f"65+={v:.0f}", fused_age(p66, wide, v), y)
    print("finer bands: faces, MAE (mean error) of 66 | wide")
    for lo, hi in FINE:
        m = (y >= lo) & (y <= hi)
        print(f"  {lo}-{hi if hi < 999 else ''} {m.sum():4d}  {np.abs(e66 - y)[m].mean():6.2f} "
              f"({(e66 - y)[m].mean():+6.2f}) | {np.abs(ewide - y)[m].mean():6.2f} ({(ewide - y)[m].mean():+6.2f})")


if __name__ == "__main__":
    main()
