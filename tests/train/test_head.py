"""smlf.widen_head: a 66-class net widened to 101 classes predicts the same
distribution (its 65+ mass spread over 65..100), and checkpoint_classes reads
the head size back; age_heads.combine and refit on hand-made cases. Needs torch (python3-torch); meson runs it only then."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import age_heads  # noqa: E402
import smlf  # noqa: E402

torch.manual_seed(3)
narrow = smlf.build("small").eval()
wide = smlf.build("small", 101).eval()
sd = smlf.widen_head(narrow.state_dict(), 101)
wide.load_state_dict(sd)
assert smlf.checkpoint_classes({"model": sd}) == 101
assert smlf.checkpoint_classes(narrow.state_dict()) == 66
x = torch.randn(3, 3, 64, 64)
with torch.no_grad():
    pn = torch.softmax(narrow(x), 1)
    pw = torch.softmax(wide(x), 1)
d_young = (pw[:, :65] - pn[:, :65]).abs().max().item()
d_old = (pw[:, 65:].sum(1) - pn[:, 65]).abs().max().item()
print(f"ages 0..64 differ by {d_young:.2e}, 65+ mass by {d_old:.2e}")
assert d_young < 1e-6 and d_old < 1e-6
# the old 65+ mass is spread evenly, so the widened net's mean age is older
assert torch.allclose(pw[:, 65], pw[:, 100])
try:
    smlf.widen_head(sd, 66)
    raise SystemExit("narrowing a head must fail")
except ValueError:
    pass
# combine: the 66-class mass below 65 kept, the 65+ mass (0.4) spread over
# 65..100 in the 101-class head's tail proportions (1 : 3 on ages 70 and 80)
p66 = torch.zeros(1, 66)
p66[0, 30], p66[0, 65] = 0.6, 0.4
p101 = torch.zeros(1, 101)
p101[0, 20], p101[0, 70], p101[0, 80] = 0.5, 0.125, 0.375
c = age_heads.combine(p66, p101)
assert c.shape == (1, 101) and abs(float(c.sum()) - 1) < 1e-6
assert abs(float(c[0, 30]) - 0.6) < 1e-6 and float(c[0, 20]) == 0
assert abs(float(c[0, 70]) - 0.1) < 1e-6 and abs(float(c[0, 80]) - 0.3) < 1e-6
assert abs(float(age_heads.expect(c)[0]) - (18 + 7 + 24)) < 1e-4

# refit: a head that starts at zero learns to separate two feature clusters
# whose ages are 10 and 50 (expected ages move towards them)
f = torch.zeros(40, 2, 2)
f[:20, :, 0], f[20:, :, 1] = 1.0, 1.0
ages = torch.tensor([10.0] * 20 + [50.0] * 20).numpy()
w, b = age_heads.refit(f, ages, torch.zeros(66, 2), torch.zeros(66), 0.5, 1000)
e = age_heads.expect(age_heads.probs(f, w, b))
assert abs(e[0] - 10) < 1 and abs(e[-1] - 50) < 1, e[[0, -1]]
print("ok")
