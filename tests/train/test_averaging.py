"""Weight averaging and IoU-aware detector targets, on hand-computed cases:
soup.average_states (checkpoint soup), train_age.Ema (moving average kept
during training), det_train.delta_iou and loss_fn(iou_cls=...). Needs torch;
meson runs it only then."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import det_train  # noqa: E402
import soup  # noqa: E402
import train_age  # noqa: E402

# --- soup: floats averaged, integer buffers from the first file ---
a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(7)}
b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(9)}
c = {"w": torch.tensor([5.0, 1.0]), "n": torch.tensor(1)}
m = soup.average_states([a, b, c])
assert torch.allclose(m["w"], torch.tensor([3.0, 3.0])), m["w"]
assert int(m["n"]) == 7
for bad in ({"w": torch.zeros(3), "n": torch.tensor(1)}, {"v": torch.zeros(2), "n": torch.tensor(1)}):
    try:
        soup.average_states([a, bad])
    except ValueError:
        pass
    else:
        raise AssertionError("mismatched checkpoints were averaged")

# --- Ema: decay ramps as (1 + t) / (10 + t) up to the cap ---
lin = torch.nn.Linear(1, 1, bias=False)
with torch.no_grad():
    lin.weight.fill_(0.0)
ema = train_age.Ema([lin], 0.5)
ref = 0.0
for t, w in enumerate([10.0, 20.0, 30.0], 1):
    with torch.no_grad():
        lin.weight.fill_(w)
    ema.update()
    d = min(0.5, (1 + t) / (10 + t))
    ref = d * ref + (1 - d) * w
got = float(ema.state[0]["weight"])
assert abs(got - ref) < 1e-5, (got, ref)
ema.swap()
assert abs(float(lin.weight) - ref) < 1e-5, "swap did not load the average"
ema.swap()
assert float(lin.weight) == 30.0, "second swap did not restore the live weights"

# --- delta_iou: boxes decoded from deltas of one anchor ---
pred = torch.tensor([[0.0, 0, 0, 0], [5.0, 0, 0, 0], [0.0, 0, 3.4657359, 0]])
iou = det_train.delta_iou(pred, torch.zeros(3, 4))
# same box; shifted by half its width (overlap 1/2 over union 3/2); width
# doubled (exp(3.4657 * 0.2) = 2: the smaller box inside, 1/2)
assert torch.allclose(iou, torch.tensor([1.0, 1 / 3, 0.5]), atol=1e-5), iou

# --- loss_fn: a positive anchor's class target becomes min(1, IoU / k) ---
# one image, one positive anchor, 19 negatives; flatten_outputs is bypassed
# so the outputs can be given directly
n = 20
label = torch.zeros(1, n, dtype=torch.long)
label[0, 0] = 1
cls = torch.zeros(1, n, 2)
cls[0, 0] = torch.tensor([0.0, 2.0])
box = torch.zeros(1, n, 4)
box[0, 0, 0] = 5.0        # predicted box: IoU 1/3 with the target below
tbox = torch.zeros(1, n, 4)
ldm = torch.zeros(1, n, 10)
orig = det_train.flatten_outputs
det_train.flatten_outputs = lambda outs: outs
try:
    hard = det_train.loss_fn((cls, box, ldm), label, tbox, ldm, torch.zeros(1, n))[0]
    soft = det_train.loss_fn((cls, box, ldm), label, tbox, ldm, torch.zeros(1, n), iou_cls=0.5)[0]
finally:
    det_train.flatten_outputs = orig
logp = torch.log_softmax(torch.tensor([0.0, 2.0]), 0)
neg = torch.log_softmax(torch.zeros(2), 0)[0]   # every negative: logits 0, 0
k = 16                                           # hard negatives kept: max(3 x 1, 16)
t = (1 / 3) / 0.5
want_hard = -logp[1] - k * neg
want_soft = -(t * logp[1] + (1 - t) * logp[0]) - k * neg
assert abs(float(hard) - float(want_hard)) < 1e-5, (float(hard), float(want_hard))
assert abs(float(soft) - float(want_soft)) < 1e-5, (float(soft), float(want_soft))
print("soup, ema, delta_iou and IoU-aware targets: ok")
