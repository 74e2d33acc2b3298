"""train_age.mixup: alpha 0 leaves the batch alone; otherwise every image is
lam * itself + (1 - lam) * its partner, with one lam in [0, 1] per batch, the
same draws for the same generator state, and Beta(a, a) weights whose mean
is 0.5 and whose spread shrinks as a grows. Needs torch; meson runs it only
then."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import train_age  # noqa: E402

fails = 0


def check(ok, what):
    global fails
    if not ok:
        fails += 1
        print("FAIL:", what)


x = torch.randn(8, 3, 4, 4)
y, perm, lam = train_age.mixup(x, 0.0, torch.Generator().manual_seed(1))
check(y is x and lam == 1.0 and (perm == torch.arange(8)).all(), "alpha 0: unchanged")

y, perm, lam = train_age.mixup(x, 0.2, torch.Generator().manual_seed(1))
check(0.0 <= lam <= 1.0, f"lam in [0, 1]: {lam}")
check(sorted(perm.tolist()) == list(range(8)), f"perm is a permutation: {perm}")
check(torch.allclose(y, lam * x + (1 - lam) * x[perm]), "each image blended with its partner")
y2, perm2, lam2 = train_age.mixup(x, 0.2, torch.Generator().manual_seed(1))
check(lam2 == lam and torch.equal(perm2, perm) and torch.equal(y2, y), "same generator, same draw")

for a, lo, hi in ((0.2, 0.39, 0.45), (4.0, 0.15, 0.18)):
    g = torch.Generator().manual_seed(2)
    lams = np.array([train_age.mixup(x, a, g)[2] for _ in range(4000)])
    # Beta(a, a): mean 0.5, sd sqrt(1 / (4 (2a + 1))) = 0.423 at 0.2, 0.167 at 4
    check(abs(lams.mean() - 0.5) < 0.03 and lo < lams.std() < hi,
          f"Beta({a}, {a}) draws: mean {lams.mean():.3f}, sd {lams.std():.3f}")

print("FAIL" if fails else "ok")
sys.exit(1 if fails else 0)
