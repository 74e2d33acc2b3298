"""train/det_verify.py: the candidate labels, box encode/decode (inverse of
each other; the size ratio clamped as src/detect/ac_verify.c clamps it),
the crop twin on hand cases (inside: the image; outside: black), and the
rescoring that mirrors ac_detect (sqrt of the product, clip, threshold,
NMS again), the network's --width, and distillation (the soft face
targets; teach() averages its checkpoints' mirror looks; several data
files, each with its teacher, concatenated in order)."""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import det_verify as V  # noqa: E402

fails = 0


def check(cond, what):
    global fails
    if not cond:
        print("FAIL:", what)
        fails += 1


check([V.candidate_label(x) for x in (0.0, 0.29, 0.3, 0.49, 0.5, 0.9)] ==
      [0, 0, V.IGNORE, V.IGNORE, 1, 1], "candidate labels")
check([V.candidate_label(x, True) for x in (0.0, 0.3, 0.49, 0.5)] == [0, 0, 0, 1],
      "candidate labels of boxes the detector keeps unrefined")

rng = np.random.default_rng(3)
for _ in range(50):
    b = np.array([10, 20, 10 + rng.uniform(5, 80), 20 + rng.uniform(5, 80)], np.float32)
    g = b + rng.normal(0, 3, 4).astype(np.float32)
    rw, rh = (g[2] - g[0]) / (b[2] - b[0]), (g[3] - g[1]) / (b[3] - b[1])
    if not (0.55 < rw < 1.8 and 0.55 < rh < 1.8):  # beyond the clamp: not invertible
        continue
    r = V.decode(b, V.encode(b, g))
    check(np.allclose(r, g, atol=1e-3), f"round trip {b} {g} -> {r}")
# by hand (tests/detect/test_verify.c has the same case): box 20x40, crop side 60
r = V.decode(np.array([10, 20, 30, 60], np.float32),
             [V.REG_SCALE[0] * 0.1, -V.REG_SCALE[0] * 0.05, V.REG_SCALE[1] * math.log(1.5), 20.0])
check(np.allclose(r, [11, -3, 41, 77], atol=1e-4), f"decode by hand: {r}")

img = np.full((40, 60, 3), 100, np.uint8)
c = V.crop(img, np.array([20, 10, 40, 30], np.float32))  # crop square 30 px, inside
check(c.shape == (V.SIDE, V.SIDE, 3) and (c == 100).all(), "crop inside a flat image")
c = V.crop(img, np.array([-10, -10, 10, 10], np.float32))  # centred on the corner
check(c[0, 0].max() == 0 and (c[-1, -1] == 100).all(), "crop outside is black")

# rescoring: two candidates on one face refine onto each other -> one kept
cand = np.array([[10, 10, 30, 30, 0.9], [12, 11, 32, 31, 0.5], [50, 50, 60, 60, 0.04]], np.float32)
p = np.array([0.81, 0.98, 0.5], np.float32)
refined = np.array([[11, 10, 31, 30], [11, 10, 31, 30.5], [48, 48, 70, 62]], np.float32)
b, s = V.rescore(cand, p, refined, 64, 60, 0.2, 0.4)
check(len(s) == 1 and abs(s[0] - math.sqrt(0.9 * 0.81)) < 1e-6, f"rescore: {b} {s}")
b, s = V.rescore(cand, p, refined, 64, 60, 0.1, 0.4)
check(len(s) == 2 and b[1, 2] == 64 and b[1, 3] == 60, f"rescore clips to the image: {b} {s}")
# 20 px candidates are 40 px at an input twice the image: over refine_max,
# moved refine_large of the way (0: kept where they were)
b, s = V.rescore(cand, p, refined, 64, 60, 0.2, 0.4, in_scale=2.0, refine_large=0.0)
check(len(s) == 1 and (b[0] == [10, 10, 30, 30]).all(), f"large faces keep the network's box: {b} {s}")
b, s = V.rescore(cand, p, refined, 64, 60, 0.2, 0.4, in_scale=2.0)
check(V.REFINE_LARGE == 0.5 and len(s) == 1 and (b[0] == [10.5, 10, 30.5, 30]).all(),
      f"large faces move half way: {b} {s}")
b, s = V.rescore(cand, p, refined, 64, 60, 0.2, 0.4, in_scale=1.5)
check(len(s) == 1 and (b[0] == [11, 10, 31, 30]).all(), f"30 px at the input: refined: {b} {s}")

# --width: every layer scaled, and a checkpoint loads back at its own width
# (one saved without the key is session 22's width 1)
import tempfile  # noqa: E402

import torch  # noqa: E402
torch.manual_seed(0)
net = V.Verifier(1.5).eval()
check([c.out_channels for c in net.convs] == [24, 48, 48, 96, 96] and net.fc1.out_features == 48,
      "width 1.5 channels")
check(sum(q.numel() for q in V.Verifier().parameters()) == 102933, "width 1 is session 22's net")
x = torch.randn(2, 3, V.SIDE, V.SIDE)
with tempfile.TemporaryDirectory() as d:
    ck = os.path.join(d, "v.pt")
    torch.save({"model": net.state_dict(), "epoch": 0, "width": 1.5}, ck)
    back = V.load_net(ck)
    check(back.width == 1.5 and torch.equal(back(x)[0], net(x)[0]), "width round trip")
    torch.save({"model": V.Verifier().state_dict(), "epoch": 0}, ck)
    check(V.load_net(ck).width == 1.0, "no width key: width 1")

# distillation: soft face targets, and teach() = the mean over its
# checkpoints of each one's crop-and-mirror average
y = torch.tensor([1.0, 0.0, V.IGNORE])
tp = torch.tensor([0.6, 0.2, 0.9])
check(torch.equal(V.face_targets(y), torch.tensor([1.0, 0.0, 0.0])), "hard face targets")
check(torch.allclose(V.face_targets(y, tp, 0.5), torch.tensor([0.8, 0.1, 0.45])), "soft face targets")
with tempfile.TemporaryDirectory() as d:
    xs = np.random.default_rng(4).integers(0, 256, (5, V.SIDE, V.SIDE, 3), dtype=np.uint8)
    np.savez(os.path.join(d, "data.npz"), x=xs, y=np.zeros(5, np.uint8))
    nets = []
    for k, w in enumerate((1.0, 1.5)):
        torch.manual_seed(10 + k)
        n = V.Verifier(w).eval()
        torch.save({"model": n.state_dict(), "epoch": 0, "width": w}, os.path.join(d, f"{k}.pt"))
        nets.append(n)
    import argparse  # noqa: E402
    V.teach(argparse.Namespace(data=os.path.join(d, "data.npz"), checkpoints=f"{d}/0.pt,{d}/1.pt",
                               out=os.path.join(d, "t.npz"), threads=1))
    got = np.load(os.path.join(d, "t.npz"))["p"]
    xt = V.to_tensor(xs)
    with torch.no_grad():
        want = sum(0.5 * (torch.sigmoid(n(xt)[0]) + torch.sigmoid(n(xt.flip(3))[0])) for n in nets) / 2
    check(got.shape == (5,) and np.allclose(got, want.numpy(), atol=1e-6), f"teach: {got} {want}")

    # several data files: concatenated in order, each with its own teacher
    ys2 = np.array([1, V.IGNORE, 0], np.uint8)
    np.savez(os.path.join(d, "d0.npz"), x=xs[:2], y=np.array([1, 0], np.uint8), reg=np.zeros((2, 4), np.float32))
    np.savez(os.path.join(d, "d1.npz"), x=xs[2:], y=ys2, reg=np.ones((3, 4), np.float32))
    np.savez(os.path.join(d, "t0.npz"), p=np.array([0.9, 0.1], np.float32))
    np.savez(os.path.join(d, "t1.npz"), p=np.array([0.7, 0.5, 0.3], np.float32))
    x, y2, reg, tp2 = V.load_data(f"{d}/d0.npz,{d}/d1.npz", f"{d}/t0.npz,{d}/t1.npz")
    check(np.array_equal(x, xs) and y2.tolist() == [1, 0, 1, V.IGNORE, 0]
          and reg[:, 0].tolist() == [0, 0, 1, 1, 1]
          and np.allclose(tp2.numpy(), [0.9, 0.1, 0.7, 0.5, 0.3]), "load_data: two files in order")
    check(V.load_data(f"{d}/d0.npz")[3] is None, "load_data: no teacher")
    for bad in (f"{d}/t0.npz", f"{d}/t1.npz,{d}/t0.npz"):
        try:
            V.load_data(f"{d}/d0.npz,{d}/d1.npz", bad)
            check(False, f"load_data accepted teachers {bad}")
        except SystemExit:
            pass

print("FAIL" if fails else "ok")
sys.exit(1 if fails else 0)
