"""Compare the two heads of one full SMLF-Net run on frozen features, and
what can be made of them without training the backbone (models/README.md,
session 12).

    /usr/bin/python3 train/age_heads.py [--refit 0.5,0.25,0]

The 66- and 101-class checkpoints of a joint run (--aux66) share their
backbone, so the pooled features of each validation image (and its mirror)
are computed once and both heads read them. Printed, on utk_val.csv:
- MAE and bias of both heads by five-year band of 40-64 (where the wide
  head loses), and the wide head clipped to 65;
- one distribution from both heads: the 66-class head's mass below 65 and
  its 65+ mass spread over 65.. in the 101-class head's proportions;
- with --refit: each head's last layer refitted (full-batch Adam) on the
  training images' features with the training loss, sampled 1/count^alpha.
Features are cached outside the work tree (utkdata.CACHE).
"""
import argparse
import os

import numpy as np
import torch

import smlf
import utkdata
from train_age import age_loss, to_input

BANDS = ((0, 12), (13, 19), (20, 39), (40, 64), (65, 999))
FINE = ((40, 44), (45, 49), (50, 54), (55, 59), (60, 64))


def features(ck, which):
    """(N, 2, D) pooled features of the split's images and their mirrors."""
    s = torch.load(ck)
    key = f"feat-{os.path.basename(ck)}-{s.get('epoch')}-{which}.npz"
    path = os.path.join(utkdata.CACHE, key)
    m = smlf.build(s["variant"], smlf.checkpoint_classes(s))
    imgs, ages = utkdata.cached_arrays(which, m.input_size)
    if not os.path.exists(path):
        m.load_state_dict(s["model"])
        m.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(imgs), 128):
                x = to_input(imgs[i:i + 128]).contiguous(memory_format=torch.channels_last)
                out.append(torch.stack([m.features(x), m.features(torch.flip(x, [3]))], 1))
        np.savez(path + ".tmp.npz", f=torch.cat(out).numpy())
        os.replace(path + ".tmp.npz", path)
    return torch.from_numpy(np.load(path)["f"]), np.asarray(ages, np.float64)


def names(bands):
    return " / ".join("%d+" % lo if hi > 150 else "%d-%d" % (lo, hi) for lo, hi in bands)


def head(ck):
    m = torch.load(ck)["model"]
    return m["fc.weight"], m["fc.bias"]


def probs(f, w, b):
    return torch.softmax(f @ w.T + b, -1).mean(1)  # mirror-averaged


def expect(p):
    return (p * smlf.class_ages(p.shape[1])).sum(1).numpy()


def line(name, pred, ages, bands=BANDS, bias=False):
    err = pred - ages
    cells = []
    for lo, hi in bands:
        s = (ages >= lo) & (ages <= hi)
        cells.append("%.2f" % np.abs(err[s]).mean() + (" (%+.2f)" % err[s].mean() if bias else ""))
    print("%-28s MAE %.4f  %s" % (name, np.abs(err).mean(), "  ".join(cells)))


def combine(p66, p101):
    tail = p101[:, 65:] / p101[:, 65:].sum(1, keepdim=True)
    return torch.cat([p66[:, :65], p66[:, 65:] * tail], 1)


def refit(f, ages, w, b, alpha, steps, mean_loss=0.05):
    """The head refitted on features f (N, 2, D) with the training loss."""
    n = w.shape[0]
    w, b = w.clone().requires_grad_(), b.clone().requires_grad_()
    y = torch.from_numpy(ages).long()
    counts = np.bincount(np.minimum(ages.astype(int), 100), minlength=101).astype(np.float64)
    sw = torch.from_numpy(counts[np.minimum(ages.astype(int), 100)] ** -alpha).float()
    sw = (sw / sw.sum()).repeat_interleave(2) / 2
    x, y = f.reshape(-1, f.shape[-1]), y.repeat_interleave(2)
    opt = torch.optim.Adam([w, b], lr=1e-2)
    for _ in range(steps):
        loss = age_loss(x @ w.T + b, y, n, mean_loss, sw)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach(), b.detach()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", default="train/checkpoints/smlf-full-best.pt")
    ap.add_argument("--wide", default="train/checkpoints/smlf-full-wide-best.pt")
    ap.add_argument("--refit", default="", help="comma-separated alphas (e.g. 0.5,0.25,0)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    sa, sb = torch.load(a.full)["model"], torch.load(a.wide)["model"]
    if any(not torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("fc.")):
        raise SystemExit("age_heads: the two checkpoints do not share a backbone")
    f, ages = features(a.full, "val")
    h66, h101 = head(a.full), head(a.wide)
    p66, p101 = probs(f, *h66), probs(f, *h101)
    print("bands", names(BANDS))
    line("66-class", expect(p66), ages)
    line("101-class", expect(p101), ages)
    line("101-class clipped to 65", np.minimum(expect(p101), 65), ages)
    line("66 below 65, 101's tail", expect(combine(p66, p101)), ages)
    print("40-64 by five years, MAE (bias)", names(FINE))
    line("66-class", expect(p66), ages, FINE, bias=True)
    line("101-class", expect(p101), ages, FINE, bias=True)
    if a.refit:
        ft, at = features(a.full, "train")
        for alpha in (float(v) for v in a.refit.split(",")):
            for name, h in (("66", h66), ("101", h101)):
                w, b = refit(ft, at, *h, alpha, a.steps)
                line(f"{name}-class refit, alpha {alpha:g}", expect(probs(f, w, b)), ages)


if __name__ == "__main__":
    main()
