"""smlf.widen_head: a 66-class net widened to 101 classes predicts the same
distribution (its 65+ mass spread over 65..100), and checkpoint_classes reads
the head size back. Needs torch (python3-torch); meson runs it only then."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
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
print("ok")
