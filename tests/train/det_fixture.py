"""A detector whose outputs are worth comparing, for the detector tests:
random BN statistics (a folded or widened BN must carry them) and heads
with real weights (the prior-initialised heads make every output nearly
constant)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train"))
import det_model  # noqa: E402


def random_detector(seed, *dims):
    torch.manual_seed(seed)
    net = det_model.Detector(*dims)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
        for h in net.heads:
            h.weight.normal_(0, 0.5)
    net.eval()
    return net
