"""det_model.widen grows a trained detector into a wider one without moving
its outputs: a detector with non-trivial BN statistics and head weights,
widened in the backbone, the LFPN and the context modules, computes the same
head outputs (exactly with noise 0, closely with the symmetry-breaking
noise); every new channel is live; a narrower target is refused. The
widened network exports and reads back (det_export.detector_from_acnn) with
its widths. Needs torch (python3-torch); meson runs it only then."""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import det_export  # noqa: E402
import det_model  # noqa: E402
from det_fixture import random_detector  # noqa: E402

src = random_detector(11)
WIDE = ((16, 40, 64, 192, 256), 64)
x = torch.randn(2, 3, 64, 96)
with torch.no_grad():
    ya = src(x)
spread = min(a.std().item() for a in ya)
assert spread > 1e-2
for noise, tol in ((0.0, 1e-4), (0.05, 0.05)):
    dst = det_model.Detector(*WIDE)
    det_model.widen(src, dst, noise=noise)
    dst.eval()
    with torch.no_grad():
        yb = dst(x)
    diff = max((a - b).abs().max().item() for a, b in zip(ya, yb))
    print(f"noise {noise}: widened outputs differ by {diff:.2e} (their spread {spread:.2e})")
    assert diff < tol * max(1.0, spread)

# every channel of every space is live on this input: no new unit starts dead
acts = []
hooks = [m.register_forward_hook(lambda mod, i, o: acts.append(o))
         for m in dst.modules() if isinstance(m, torch.nn.ReLU)]
with torch.no_grad():
    dst(x)
for h in hooks:
    h.remove()
dead = sum(int((a.amax((0, 2, 3)) <= 0).sum()) for a in acts)
dead_src = []
hooks = [m.register_forward_hook(lambda mod, i, o: dead_src.append(int((o.amax((0, 2, 3)) <= 0).sum())))
         for m in src.modules() if isinstance(m, torch.nn.ReLU)]
with torch.no_grad():
    src(x)
for h in hooks:
    h.remove()
print(f"dead channels: {dead} widened, {sum(dead_src)} before")
assert dead <= 2 * sum(dead_src), "new channels start dead"

# the copies differ from their originals (noise), so they can learn apart:
# no two filters of a grown conv are equal
for conv in (dst.cpm[0].b3[1][0], dst.stage4[0][1][0]):
    f = conv.weight.flatten(1)
    dist = torch.cdist(f, f) + torch.eye(len(f)) * 1e9
    assert dist.min() > 1e-6, "a copied channel equals its original"

try:
    det_model.widen(dst, det_model.Detector())
    raise SystemExit("a narrower target must be refused")
except ValueError as e:
    print("refused:", e)

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "wide.acnn")
    wr = det_export.build_graph(dst, 64, 48)
    for k, v in (("arch", "pyramidbox-lite"), ("det_width", "16,40,64,192,256"), ("det_fpn", 64)):
        wr.meta(k, v)
    wr.save(path)
    back = det_export.detector_from_acnn(path)
    assert back.width == dst.width and back.fpn == 64, (back.width, back.fpn)
    back.eval()
    x = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        d2 = max((a - b).abs().max().item() for a, b in zip(dst(x), back(x)))
    print(f"read back from .acnn: outputs differ by {d2:.2e}")
    assert d2 < 1e-3
print("ok")
